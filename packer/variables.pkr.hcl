variable "region" {
  type        = string
  description = "AWS region the AMI is built in (and registered in)."
  default     = "eu-west-1"
}

variable "instance_type" {
  type        = string
  description = "Instance type of the temporary build instance; it only unpacks and installs, so a small one is enough."
  default     = "t3.small"
}

variable "volume_size_gb" {
  type        = number
  description = "Root volume of the image, in GiB."
  default     = 8
}

variable "version" {
  type        = string
  description = "Service version (package.json version); part of the AMI name and the Version tag the stack looks up."
  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+(-[0-9A-Za-z.-]+)?$", var.version))
    error_message = "The version must be a semantic version such as 1.2.3."
  }
}

variable "git_commit" {
  type        = string
  description = "Full git commit the bundle was built from; tagged as GitCommit."
  validation {
    condition     = can(regex("^[0-9a-f]{40}$", var.git_commit))
    error_message = "The git_commit must be a full 40-character lower-case commit id."
  }
}

variable "bundle_path" {
  type        = string
  description = "Service bundle made by `npm run bundle` (build/chat-service-<version>.tar.gz)."
}

variable "bundle_sha256" {
  type        = string
  description = "SHA-256 of the bundle; checked on the build instance before anything is unpacked."
  validation {
    condition     = can(regex("^[0-9a-f]{64}$", var.bundle_sha256))
    error_message = "The bundle_sha256 must be 64 lower-case hex digits."
  }
}
