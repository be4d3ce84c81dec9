# Proves the VM path reports failures: one check here must fail.
check "a passing check" true
check_eq "a deliberately wrong expectation" 7 echo 6
