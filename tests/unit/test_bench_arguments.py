"""What the bench's options deploy: a lever measured with the bench is a Terraform variable set, not a patch."""

import argparse

from local.bench import deployment_variables


def test_the_fold_count_is_deployed_only_when_given():
    default = argparse.Namespace(model_preset="bundled", cross_fit_folds=None)
    assert deployment_variables(default) == {"model_preset": "bundled"}
    ten = argparse.Namespace(model_preset="bundled_image", cross_fit_folds=10)
    assert deployment_variables(ten) == {"model_preset": "bundled_image", "cross_fit_folds": 10}
