# boot: nothing but the verdict, to measure boot-to-verdict.
check "the guest reached its scenario" true
