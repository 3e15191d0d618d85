"""Text classifier for the active-learning workflow: a SageMaker bring-your-own-model container.

`train` and `serve` (next to this package) follow the SageMaker container contract; see README.md.
In-process use: `text_classifier.model.predict_lines(model_dir, lines)`.
"""

__version__ = "1.0.0"
