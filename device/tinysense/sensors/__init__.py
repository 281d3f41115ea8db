"""Sensor sources and their replay twins: each hardware source has a twin that plays recorded
data through the same interface, so one application runs on a board and on the unix port."""
