# The main job: load with min_nr=6, show stats and the module's log, drive it, unload.
check "load --min-nr 6" mempoolctl load --min-nr 6
check "stats" mempoolctl stats
check_value "reserve is full (curr_nr = 6)" 6 $SYSFS/curr_nr
check "hold 3" mempoolctl hold 3
check "release all" mempoolctl release all
check "resize 8" mempoolctl resize 8
check "log" mempoolctl log
check "unload" mempoolctl unload
check_absent "module gone after unload" /sys/module/$MODULE
