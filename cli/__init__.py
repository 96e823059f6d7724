"""The `policypush` command line."""
