"""Use cases: turn a decoded input event into state changes, decisions and outbox rows."""
