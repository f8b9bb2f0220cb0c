"""Log followers and periodic jobs with side effects."""
