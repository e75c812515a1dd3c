"""The demo-micro testbed: a kind cluster, its images and the deployed system, as one lifecycle."""
