"""The generic package's tests: each on the shop example (`examples/shop`) or on states written
here, with no name of this system."""
