# Shared helpers for the project's scripts (sourced, not run).

# need_pkgs CMD:PKG...: installs each Debian package whose command is missing.
need_pkgs() {
	local missing=()
	for pair in "$@"; do
		command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo ">> installing ${missing[*]} (apt-get)"
	local sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	$sudo apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# need_perl_module MODULE PACKAGE: installs the Debian package of a Perl
# module when perl cannot load it (the SMSC peers of the tests).
need_perl_module() {
	perl -M"$1" -e1 >/dev/null 2>&1 && return 0
	echo ">> installing $2 (apt-get) for the Perl module $1"
	local sudo=""
	[ "$(id -u)" -ne 0 ] && sudo="sudo"
	$sudo apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$2" >/dev/null
}

need_go() {
	if ! command -v go >/dev/null 2>&1; then
		echo "Go is required (https://go.dev/doc/install); go.mod asks for $(awk '/^go /{print $2}' go.mod)" >&2
		exit 1
	fi
}
