# The main job: load with min_nr=6, show stats and the module's log, unload.
check "load --min-nr 6" mempoolctl load --min-nr 6
check "stats" mempoolctl stats
check_eq "reserve is full (curr_nr = 6)" 6 cat $SYSFS/curr_nr
check "unload" mempoolctl unload
check "log" mempoolctl log
check_absent "module gone after unload" /sys/module/$MODULE
