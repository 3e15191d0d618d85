"""Script-mode training entry point of the `bundled` preset (hyperparameter sagemaker_program=train.py).

SageMaker's training toolkit in the scikit-learn framework image unpacks the source archive into its code
directory and runs `python train.py --<hyperparameter> <value> ...`. The model trains exactly as in the
own-image container (text_classifier.training, the same /opt/ml contract); then the code directory is copied
into the model, so the model artifact alone serves (inference.py), with network isolation.
"""

import logging
import sys
from pathlib import Path

CODE = Path(__file__).resolve().parent
sys.path.insert(0, str(CODE))

from text_classifier import paths, script_mode, training  # noqa: E402

LOG = logging.getLogger("text_classifier.train")


def main() -> int:
    script_mode.prepare(CODE)
    for difference in script_mode.library_differences(CODE):
        LOG.warning("this image's libraries differ from local mode's: %s", difference)
    return training.main(script_mode=True, after=lambda: script_mode.copy_code(CODE, paths.model_dir()))


if __name__ == "__main__":
    sys.exit(main())
