#!/bin/sh
# Regenerates the test-only TLS fixtures of the fake registry's HTTPS listener: a private CA
# (ca.pem, its key is not kept) and a leaf for 127.0.0.1 and localhost signed by it
# (server.pem, server.key), valid 100 years. Our own fixtures, never trusted outside tests.
# Run from this directory: sh make.sh
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
openssl ecparam -name prime256v1 -genkey -noout -out "$tmp/ca.key"
openssl req -x509 -new -key "$tmp/ca.key" -sha256 -days 36500 -subj "/CN=release-core test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.pem
openssl ecparam -name prime256v1 -genkey -noout | openssl pkcs8 -topk8 -nocrypt -out server.key
openssl req -new -key server.key -subj "/CN=localhost" -out "$tmp/server.csr"
printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
  "extendedKeyUsage=serverAuth" "subjectAltName=IP:127.0.0.1,DNS:localhost" > "$tmp/leaf.ext"
openssl x509 -req -in "$tmp/server.csr" -CA ca.pem -CAkey "$tmp/ca.key" -CAcreateserial -sha256 -days 36500 \
  -extfile "$tmp/leaf.ext" -out server.pem
rm -f ca.srl
