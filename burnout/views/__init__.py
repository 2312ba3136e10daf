"""What each audience sees, as typed objects."""
