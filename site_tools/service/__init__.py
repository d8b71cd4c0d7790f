"""The subscriptions service: Meta's webhooks in (signed), keywords and receipts applied, answers out."""
