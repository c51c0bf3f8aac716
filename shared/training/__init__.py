"""The training engine shared by every domain."""
