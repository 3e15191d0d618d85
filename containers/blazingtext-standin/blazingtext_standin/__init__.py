"""A local stand-in for the SageMaker BlazingText algorithm image in supervised mode (see README.md)."""
