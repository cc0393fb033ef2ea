"""Writes of the predictions app, one module per sub-domain.

- `creation`: a prediction on the current price, with its options checked.
- `votes`: casting a vote; marking the votes of resolved predictions.
- `cancellation`: cancelling a prediction.
- `deletion`: deleting a prediction nobody voted on and nothing verified.
- `verification`: the verifier's batches (claim, decide, write) and manual verification.
- `statistics`: each voter's counts and streaks, set-based.
- `notifications`: the inbox rows.
- `delivery`: sending notifications after commit (WebSocket, Web Push).
- `subscriptions`: registering and forgetting browsers' push subscriptions.
- `sql`: the few SQL pieces that differ between PostgreSQL and SQLite.

Deciding an outcome (no database) is `predictions.outcomes`; what is sent to clients is built
in `predictions.messages`.
"""
