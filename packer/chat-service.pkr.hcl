locals {
  # One timestamp for the whole build, so the name and tags agree.
  build_time   = formatdate("YYYYMMDDhhmmss", timestamp())
  short_commit = substr(var.git_commit, 0, 7)
  ami_name     = "chat-service-${var.version}-${local.short_commit}-${local.build_time}"

  # The stack finds the newest image with Project, Component and Version.
  image_tags = {
    Project   = "chat-platform"
    Component = "chat-service"
    Version   = var.version
    GitCommit = var.git_commit
  }

  staging_dir = "/tmp/chat-image"
}

source "amazon-ebs" "chat_service" {
  region          = var.region
  instance_type   = var.instance_type
  ami_name        = local.ami_name
  ami_description = "Chat service ${var.version} (${var.git_commit}) on Amazon Linux 2023"

  # The newest Amazon Linux 2023 image published by Amazon's own account.
  source_ami_filter {
    filters = {
      name                = "al2023-ami-2023.*-x86_64"
      architecture        = "x86_64"
      virtualization-type = "hvm"
      root-device-type    = "ebs"
    }
    owners      = ["137112412989"]
    most_recent = true
  }

  ssh_username            = "ec2-user"
  temporary_key_pair_type = "ed25519"

  # Instances launched from the image accept IMDSv2 only; the build instance too.
  imds_support = "v2.0"
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  launch_block_device_mappings {
    device_name           = "/dev/xvda"
    volume_size           = var.volume_size_gb
    volume_type           = "gp3"
    delete_on_termination = true
  }

  tags          = merge(local.image_tags, { Name = local.ami_name })
  snapshot_tags = merge(local.image_tags, { Name = local.ami_name })
  run_tags      = merge(local.image_tags, { Name = "packer-build ${local.ami_name}" })
}

build {
  name    = "chat-service"
  sources = ["source.amazon-ebs.chat_service"]

  provisioner "shell" {
    inline = ["mkdir -p ${local.staging_dir}"]
  }

  provisioner "file" {
    source      = var.bundle_path
    destination = "${local.staging_dir}/chat-service.tar.gz"
  }

  # Trailing slash: the contents of files/, not the folder itself.
  provisioner "file" {
    source      = "${path.root}/files/"
    destination = local.staging_dir
  }

  provisioner "shell" {
    environment_vars = [
      "STAGING_DIR=${local.staging_dir}",
      "BUNDLE_SHA256=${var.bundle_sha256}",
      "NODE_MAJOR=${var.node_major}",
    ]
    execute_command = "chmod +x {{ .Path }}; sudo env {{ .Vars }} {{ .Path }}"
    scripts = [
      "${path.root}/scripts/provision.sh",
      "${path.root}/scripts/cleanup.sh",
    ]
  }

  post-processor "manifest" {
    output     = "${path.root}/manifest.json"
    strip_path = true
    custom_data = {
      version       = var.version
      git_commit    = var.git_commit
      bundle_sha256 = var.bundle_sha256
    }
  }
}
