# Reprints, after a failed `bun test`, what each failure printed: the file it was in, the lines
# before each "(fail)" (bun prints a test's error above its result line) and each "Unhandled
# error between tests" block. CI shows only the tail of its log, where this lands.
# bun's own summary at the end repeats the result lines: stop there.
/^[0-9]+ tests failed:$/ { exit }
/^test\/.*\.test\.ts:$/ { file = $0; n = 0; grab = 0; next }
/^# Unhandled error between tests/ { print "---- " file " (unhandled error between tests)"; grab = 40; rules = 0; next }
# The block ends at its second line of dashes.
grab > 0 { print; grab--; if ($0 ~ /^-+$/ && ++rules == 2) grab = 0; next }
/^\(fail\)/ {
  print "---- " file
  start = n > 24 ? n - 24 : 0
  for (i = start; i < n; i++) print buf[i % 24]
  print
  n = 0
  next
}
{ buf[n % 24] = $0; n++ }
