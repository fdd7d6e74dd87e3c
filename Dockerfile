# syntax=docker/dockerfile:1
# The smsgate container image: a static binary on a distroless base, run as
# a non-root user, with nothing to write in the root file system (run it
# with --read-only, or readOnlyRootFilesystem in Kubernetes).
#
#   docker build -t smsgate .
#   docker run --read-only -v ./smsgate.yml:/etc/smsgate/smsgate.yml:ro \
#     -p 2525:2525 -p 8080:8080 smsgate
#
# The configuration is read from /etc/smsgate/smsgate.yml; secrets in it may
# be env:NAME or file:/path references (see deploy/k8s).

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO off: a static binary that needs no libc in the image.
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/smsgate ./cmd/smsgate

# distroless/static: CA certificates, time zone data and /etc/passwd with
# the nonroot user (65532), no shell and no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/smsgate /usr/local/bin/smsgate
USER 65532:65532
# SMTP (smtp.listen) and HTTP (http.listen: API, /metrics, /healthz, /readyz).
EXPOSE 2525 8080
ENTRYPOINT ["/usr/local/bin/smsgate"]
CMD ["serve", "--config", "/etc/smsgate/smsgate.yml"]
