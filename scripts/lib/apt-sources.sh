# Sourced by engine-up.sh and base-images.sh.
# debian_mirror SUITE: the first mirror URI this host's apt sources (deb822 .sources files,
# then one-line .list files) give for SUITE; empty when none does.
debian_mirror() {
  local suite=$1 uri=""
  uri=$(awk -v s="$suite" '
      BEGIN { RS=""; FS="\n" }
      {
        types=""; uris=""; suites=""
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^[ \t]*#/) continue
          if (line ~ /^Types:/)  { sub(/^Types:[ \t]*/, "", line);  types = line }
          if (line ~ /^URIs:/)   { sub(/^URIs:[ \t]*/, "", line);   uris = line }
          if (line ~ /^Suites:/) { sub(/^Suites:[ \t]*/, "", line); suites = " " line " " }
        }
        if (types ~ /(^| )deb( |$)/ && index(suites, " " s " ") > 0) { split(uris, u, /[ \t]+/); print u[1]; exit }
      }' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
  if [ -z "$uri" ]; then
    uri=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      sed -E 's/\[[^]]*\]//' | awk -v s="$suite" '$1 == "deb" && $3 == s { print $2; exit }')
  fi
  echo "$uri"
}
