# Exact pins: scripts/tools/packer.sh builds these same versions, and
# test/packer checks that the two agree.
packer {
  required_version = "= 1.14.3"
  required_plugins {
    amazon = {
      source  = "github.com/hashicorp/amazon"
      version = "= 1.3.6"
    }
  }
}
