"""Process-level wiring: which services exist, how to run them embedded or distributed."""
