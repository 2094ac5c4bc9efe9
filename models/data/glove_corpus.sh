#!/bin/sh
# The text corpus `graph-run glove train` learns the README's vectors from,
# made offline from four Debian packages:
#
#   apt-get install -y dict-gcide wordnet-base mythes-en-us fortunes
#   models/data/glove_corpus.sh corpus.txt
#
# Four parts, in this order, paragraphs separated by blank lines (glove's
# counting window never crosses a blank line):
#   1. dict-gcide, the Collaborative International Dictionary of English
#      (Webster's 1913 + WordNet glosses), as it is: its .dict.dz is gzip;
#      glove's tokenizer skips its markup ([...], \...\, "--" citations).
#   2. WordNet 3.0 (wordnet-base): one paragraph per synset, its words then
#      its gloss (definition and example sentences):
#        "pizzeria pizza shop pizza parlor | a shop where pizzas are made and sold"
#   3. The LibreOffice English thesaurus (mythes-en-us, built from WordNet):
#      one paragraph per sense of a one-word headword, the headword then its
#      synonyms and similar and generic terms, antonyms left out:
#        "funny amusing comic comical laughable mirthful risible humorous humourous"
#      (phrase headwords are left out: "funny farm" would put "funny" beside
#      "madhouse" and "cuckoo's nest").
#   4. fortunes: every fortune cookie a paragraph (ascii-art left out): the
#      informal English the others lack.
# Each source can be pointed elsewhere (GCIDE, WORDNET, THESAURUS, FORTUNES:
# a file, a directory, a file, a directory), as the tests do with tiny ones.
set -eu
out=${1:?usage: glove_corpus.sh OUTPUT [the corpus file to write]}
GCIDE=${GCIDE:-/usr/share/dictd/gcide.dict.dz}
WORDNET=${WORDNET:-/usr/share/wordnet}
THESAURUS=${THESAURUS:-/usr/share/mythes/th_en_US_v2.dat}
FORTUNES=${FORTUNES:-/usr/share/games/fortunes}
for f in "$GCIDE" "$WORDNET/data.noun" "$WORDNET/data.verb" "$WORDNET/data.adj" "$WORDNET/data.adv" \
         "$THESAURUS" "$FORTUNES"; do
  if [ ! -e "$f" ]; then
    echo "glove_corpus.sh: $f is missing (apt-get install -y dict-gcide wordnet-base mythes-en-us fortunes)" >&2
    exit 1
  fi
done

{
  gzip -dc "$GCIDE"
  echo

  # data.<pos> lines: offset lex_filenum ss_type w_cnt (2 hex digits) then
  # w_cnt (word lex_id) pairs, pointers, "| gloss". Lines starting with two
  # spaces are the license header. Words: "_" for spaces, adjectives may carry
  # a marker "(a)", "(p)", "(ip)".
  for pos in noun verb adj adv; do grep -v '^  ' "$WORDNET/data.$pos" || true; done | awk '{
    n = index("0123456789abcdef", substr($4, 1, 1)) * 16 + index("0123456789abcdef", substr($4, 2, 1)) - 17
    s = ""
    for (k = 0; k < n; k++) s = s " " $(5 + 2 * k)
    gsub(/_/, " ", s)
    gsub(/\([a-z]+\)/, "", s)
    g = index($0, " | ")
    print substr(s, 2) " | " (g > 0 ? substr($0, g + 3) : "")
    print ""
  }'

  # th_en_US_v2.dat: "UTF-8", then "headword|senses" and one line per sense,
  # "(pos)|term|term (similar term)|term (generic term)|term (antonym)|...";
  # the senses of a headword with a space in it are skipped.
  awk -F'|' 'NR == 1 { next }
    /^\(/ {
      if (head ~ / /) next
      s = head
      for (k = 2; k <= NF; k++)
        if ($k !~ /\(antonym\)$/) { t = $k; sub(/ \([a-z ]+\)$/, "", t); s = s " " t }
      print s
      print ""
      next
    }
    { head = $1 }' "$THESAURUS"
  echo

  # fortune files: cookies separated by "%" lines; *.dat are indexes, *.u8
  # links to the same files.
  for f in "$FORTUNES"/*; do
    case "$f" in *.dat|*.u8|*/ascii-art) continue ;; esac
    [ -f "$f" ] && sed 's/^%$//' "$f"
    echo
  done
} > "$out"
echo "glove_corpus.sh: wrote $out ($(wc -l < "$out") lines, $(wc -w < "$out") words)"
