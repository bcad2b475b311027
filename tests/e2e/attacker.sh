# attacker.sh: sourced after lib.sh by the tests that play a local attacker
# (issue 19): an unprivileged account made with useradd for this test only,
# whose commands run under setpriv, removed when the test exits.
#
# make_attacker: creates the account; sets ATTACKER (its name), ATK_UID,
# ATK_GID and AS_ATTACKER (the prefix that runs a command as it). Skips
# (exit 77) only where no account can be made: not root, no useradd or
# setpriv, or useradd refused.
make_attacker() {
	if [ "$(id -u)" -ne 0 ] || ! command -v useradd >/dev/null 2>&1 ||
	    ! command -v setpriv >/dev/null 2>&1; then
		echo "SKIP: $TEST_NAME: cannot create a user here (needs root, useradd and setpriv)" >&2
		exit 77
	fi
	ATTACKER=lsatk$$
	if ! useradd -M -N -r -s /bin/false -d /nonexistent "$ATTACKER" \
	    2>"$T/useradd.err"; then
		echo "SKIP: $TEST_NAME: useradd failed: $(cat "$T/useradd.err")" >&2
		exit 77
	fi
	trap '_atk_st=$?; set +e; userdel "$ATTACKER" 2>/dev/null; (exit $_atk_st); cleanup' EXIT
	ATK_UID=$(id -u "$ATTACKER")
	ATK_GID=$(id -g "$ATTACKER")
	AS_ATTACKER="setpriv --reuid=$ATK_UID --regid=$ATK_GID --clear-groups"
	# The attacker must reach $T (mktemp made it 0700).
	chmod 755 "$T"
	log "attacker: $ATTACKER (uid $ATK_UID)"
}
