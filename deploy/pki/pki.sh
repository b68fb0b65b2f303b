#!/usr/bin/env bash
# Device PKI for the store's MQTT broker: one device CA, a broker certificate, one client
# certificate per cart (CN = cart id) and one for the host workers (CN = smartcart-host).
#
#   deploy/pki/pki.sh init   DIR                 # device CA: DIR/ca.key (keep offline), DIR/ca.crt
#   deploy/pki/pki.sh broker DIR HOSTNAME [IP]   # DIR/broker.{key,crt}, SAN = HOSTNAME (+ IP)
#   deploy/pki/pki.sh client DIR NAME [--host]   # DIR/NAME.{key,crt}: a cart id, or
#                                                # smartcart-host --host (the host workers)
#   deploy/pki/pki.sh revoke DIR NAME            # adds NAME to DIR/crl.pem (broker: crlfile)
#
# Keys are EC P-256 (small and fast on a Pi), certificates SHA-256. Mosquitto runs with
# require_certificate + use_identity_as_username, so a cart's CN *is* its MQTT username and the
# ACL pattern smartcart/v1/carts/%u/... pins it to its own topics. A stolen cart's certificate
# is revoked with `revoke` (and its signing key retired with `smartcart host keys retire`).
set -euo pipefail

usage() { sed -n '2,9p' "$0" >&2; exit 2; }
[[ $# -ge 2 ]] || usage
cmd=$1 dir=$2
days_ca=3650 days_leaf=825
umask 077

cnf() {  # a minimal CA config so `openssl ca` can keep an index for revocation
  cat >"$dir/ca.cnf" <<CNF
[ ca ]
default_ca = device_ca
[ device_ca ]
dir = $dir
database = $dir/index.txt
new_certs_dir = $dir/issued
serial = $dir/serial
crlnumber = $dir/crlnumber
default_md = sha256
default_crl_days = 30
policy = any
copy_extensions = none
[ any ]
commonName = supplied
CNF
}

issue() {  # NAME EXT_SECTION_TEXT
  local name=$1 ext=$2
  [[ -f "$dir/ca.key" ]] || { echo "no CA in $dir: run init first" >&2; exit 1; }
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/$name.key" 2>/dev/null
  openssl req -new -key "$dir/$name.key" -subj "/CN=$name" -out "$dir/$name.csr"
  printf '%s\n' "$ext" >"$dir/$name.ext"
  openssl ca -batch -config "$dir/ca.cnf" -cert "$dir/ca.crt" -keyfile "$dir/ca.key" \
    -days "$days_leaf" -notext -extfile "$dir/$name.ext" -in "$dir/$name.csr" \
    -out "$dir/$name.crt" 2>/dev/null
  rm -f "$dir/$name.csr" "$dir/$name.ext"
  chmod 644 "$dir/$name.crt"
  echo "$dir/$name.crt"
}

case $cmd in
  init)
    mkdir -p "$dir/issued"
    [[ -f "$dir/ca.key" ]] && { echo "$dir/ca.key exists: refusing to overwrite a CA" >&2; exit 1; }
    : >"$dir/index.txt"; echo 1000 >"$dir/serial"; echo 1000 >"$dir/crlnumber"
    cnf
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$dir/ca.key" 2>/dev/null
    openssl req -x509 -new -key "$dir/ca.key" -sha256 -days "$days_ca" \
      -subj "/CN=smartcart device CA" \
      -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$dir/ca.crt"
    chmod 644 "$dir/ca.crt"
    openssl ca -batch -config "$dir/ca.cnf" -cert "$dir/ca.crt" -keyfile "$dir/ca.key" \
      -gencrl -out "$dir/crl.pem" 2>/dev/null
    chmod 644 "$dir/crl.pem"
    echo "$dir/ca.crt"
    ;;
  broker)
    [[ $# -ge 3 ]] || usage
    san="DNS:$3"; [[ $# -ge 4 ]] && san="$san,IP:$4"
    issue broker "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$san"
    ;;
  client)
    [[ $# -ge 3 ]] || usage
    name=$3
    # A cart id (see smartcart/contract/topics.py) or the host workers' account. The host's
    # name is also a valid cart id, so it is reserved here: issuing it is a deliberate act
    # (--host), never a typo in a cart's name.
    if [[ $name == smartcart-host ]]; then
      [[ ${4:-} == --host ]] || { echo "smartcart-host is the host's account: add --host" >&2; exit 2; }
    elif ! [[ $name =~ ^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$ ]]; then
      echo "invalid client name $name" >&2; exit 2
    fi
    issue "$name" "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
    ;;
  revoke)
    [[ $# -ge 3 ]] || usage
    openssl ca -config "$dir/ca.cnf" -cert "$dir/ca.crt" -keyfile "$dir/ca.key" \
      -revoke "$dir/$3.crt" 2>/dev/null
    openssl ca -batch -config "$dir/ca.cnf" -cert "$dir/ca.crt" -keyfile "$dir/ca.key" \
      -gencrl -out "$dir/crl.pem" 2>/dev/null
    chmod 644 "$dir/crl.pem"
    echo "$dir/crl.pem"
    ;;
  *) usage ;;
esac
