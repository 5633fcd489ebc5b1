"""12345 government service hotline: the contact-center core."""
