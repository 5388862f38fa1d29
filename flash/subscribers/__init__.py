"""The subscriber lifecycle: sign-up with double opt-in, consent records, one-click
unsubscribes, suppression, erasure and bounces, on SQLite or PostgreSQL."""
