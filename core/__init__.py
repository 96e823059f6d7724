"""Shared plumbing: settings, database, Redis, logging. No domain logic lives here."""
