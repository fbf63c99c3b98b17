# Every Online Boutique image with one command:
#
#   docker buildx bake                                   # all images, linux/amd64 + linux/arm64
#   REGISTRY=ghcr.io/me/shop TAG=v0.1.0 docker buildx bake --push
#   docker buildx bake cartservice --set '*.platform=linux/amd64' --load
#   docker buildx bake --print                           # the resolved build plan
#
# Images are <REGISTRY>/<service>:<TAG> (docs/CONVENTIONS.md). All targets
# share the Dockerfile's builder stage, so one bake compiles the workspace
# once per platform. `boutique` (the all-in-one local runner) is not an image.
# CI adds its cache and attestation flags with --set; nothing here needs a
# registry login.

variable "REGISTRY" {
  default = "ghcr.io/boutique-rs/online-boutique"
}

variable "TAG" {
  default = "latest"
}

# OCI label values (org.opencontainers.image.*); CI passes the real ones.
variable "VERSION" {
  default = "dev"
}

variable "REVISION" {
  default = "unknown"
}

variable "CREATED" {
  default = ""
}

variable "SOURCE" {
  default = "https://github.com/boutique-rs/online-boutique-rs"
}

group "default" {
  targets = [
    "adservice",
    "cartservice",
    "checkoutservice",
    "currencyservice",
    "emailservice",
    "frontend",
    "loadgenerator",
    "paymentservice",
    "productcatalogservice",
    "recommendationservice",
    "shippingservice",
  ]
}

target "_common" {
  context    = "."
  dockerfile = "Dockerfile"
  platforms  = ["linux/amd64", "linux/arm64"]
  args = {
    VERSION  = VERSION
    REVISION = REVISION
    CREATED  = CREATED
    SOURCE   = SOURCE
  }
}

target "adservice" {
  inherits = ["_common"]
  target   = "adservice"
  tags     = ["${REGISTRY}/adservice:${TAG}"]
}

target "cartservice" {
  inherits = ["_common"]
  target   = "cartservice"
  tags     = ["${REGISTRY}/cartservice:${TAG}"]
}

target "checkoutservice" {
  inherits = ["_common"]
  target   = "checkoutservice"
  tags     = ["${REGISTRY}/checkoutservice:${TAG}"]
}

target "currencyservice" {
  inherits = ["_common"]
  target   = "currencyservice"
  tags     = ["${REGISTRY}/currencyservice:${TAG}"]
}

target "emailservice" {
  inherits = ["_common"]
  target   = "emailservice"
  tags     = ["${REGISTRY}/emailservice:${TAG}"]
}

target "frontend" {
  inherits = ["_common"]
  target   = "frontend"
  tags     = ["${REGISTRY}/frontend:${TAG}"]
}

target "loadgenerator" {
  inherits = ["_common"]
  target   = "loadgenerator"
  tags     = ["${REGISTRY}/loadgenerator:${TAG}"]
}

target "paymentservice" {
  inherits = ["_common"]
  target   = "paymentservice"
  tags     = ["${REGISTRY}/paymentservice:${TAG}"]
}

target "productcatalogservice" {
  inherits = ["_common"]
  target   = "productcatalogservice"
  tags     = ["${REGISTRY}/productcatalogservice:${TAG}"]
}

target "recommendationservice" {
  inherits = ["_common"]
  target   = "recommendationservice"
  tags     = ["${REGISTRY}/recommendationservice:${TAG}"]
}

target "shippingservice" {
  inherits = ["_common"]
  target   = "shippingservice"
  tags     = ["${REGISTRY}/shippingservice:${TAG}"]
}

# Not in the default group: the static binaries, into dist/linux_amd64/ and
# dist/linux_arm64/ (release assets, runs outside containers).
target "binaries" {
  inherits = ["_common"]
  target   = "binaries"
  output   = ["type=local,dest=dist"]
}
