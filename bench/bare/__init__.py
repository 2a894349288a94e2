"""A bare Django project: the floor the tracker's figures are compared with."""
