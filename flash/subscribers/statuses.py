"""The states of a subscriber, and how the team reads them."""

PENDING, CONFIRMED, UNSUBSCRIBED = "pending", "confirmed", "unsubscribed"
STATUSES = (PENDING, CONFIRMED, UNSUBSCRIBED)
STATUS_LABELS = {PENDING: "en attente de confirmation", CONFIRMED: "confirmé",
                 UNSUBSCRIBED: "désabonné"}
