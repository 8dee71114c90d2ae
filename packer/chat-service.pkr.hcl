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

  # The Node.js the service runs on: the same pin scripts/tools/node.sh installs
  # for the tests (npm registry package, version and sha256).
  node = jsondecode(file("${abspath(path.root)}/../config/node.json"))
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

  # No port is opened to anyone: Packer reaches the build instance through a
  # Session Manager tunnel (outbound HTTPS from the instance), so its temporary
  # security group has no inbound rule at all.
  communicator            = "ssh"
  ssh_interface           = "session_manager"
  ssh_username            = "ec2-user"
  temporary_key_pair_type = "ed25519"
  pause_before_ssm        = "15s"
  temporary_iam_instance_profile_policy_document {
    Version = "2012-10-17"
    Statement {
      Effect = "Allow"
      Action = [
        "ssm:UpdateInstanceInformation",
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
      ]
      Resource = ["*"]
    }
  }

  # Instances launched from the image accept IMDSv2 only; the build instance too.
  imds_support = "v2.0"
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  # Encrypted while building and in the image (the snapshot behind the AMI).
  launch_block_device_mappings {
    device_name           = "/dev/xvda"
    volume_size           = var.volume_size_gb
    volume_type           = "gp3"
    encrypted             = true
    delete_on_termination = true
  }
  encrypt_boot = true

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
      "NODE_VERSION=${local.node.version}",
      "NODE_PACKAGE=${local.node.package}",
      "NODE_SHA256=${local.node.sha256}",
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
      source_ami    = build.SourceAMI
      node_version  = local.node.version
    }
  }
}
