# bash completion for ipsecmon: source it, or copy it to
# /etc/bash_completion.d/ipsecmon.  The candidates come from ipsecmon
# itself (`ipsecmon __complete WORD...`), so they follow its commands.
_ipsecmon() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	local words
	words=$("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:COMP_CWORD-1}" 2>/dev/null)
	COMPREPLY=($(compgen -W "$words" -- "$cur"))
	# key= is a start: no space after it
	if [ "${#COMPREPLY[@]}" -eq 1 ] && [ "${COMPREPLY[0]%=}" != "${COMPREPLY[0]}" ]; then
		compopt -o nospace 2>/dev/null
	fi
}
complete -F _ipsecmon ipsecmon
