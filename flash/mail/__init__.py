"""The e-mail edition: each issue composed as a message (compose, edition), mailed to its
subscribers (campaign, send, journal), with its unsubscribe links and reports."""
