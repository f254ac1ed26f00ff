"""What the tickets app announces to the apps above it (they subscribe in their AppConfig.ready();
tickets never imports them).

`tickets_changed` is sent inside the transaction of a change that moved tickets into RESOLVED,
CLOSED or ESCALATED (`tickets=[...]`, the saved instances; one for an API change, a batch for the
SLA sweep). A receiver that writes must do so in that transaction (an outbox row) and act on commit,
so a rolled-back change leaves nothing behind; the reports app's live projection does exactly that.
"""

from django.dispatch import Signal

tickets_changed = Signal()
