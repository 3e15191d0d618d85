terraform {
  # 1.9: input validations may refer to other variables (cross-variable checks below).
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100"
    }
  }
}
