# The main job: load with min_nr=6, show stats and the module's log, drive it, unload.
check "load --min-nr 6" mempoolctl load --min-nr 6
check_prints "stats: min_nr 6, the reserve full" mempoolctl stats -- "min_nr*[ ]6" "curr_nr (reserve now)*[ ]6"
check_value "reserve is full (curr_nr = 6)" 6 $SYSFS/curr_nr
check "hold 3" mempoolctl hold 3
check_value "3 held (in_use)" 3 $SYSFS/in_use
check "release all" mempoolctl release all
check_value "none held after release all" 0 $SYSFS/in_use
check "resize 8" mempoolctl resize 8
check_value "min_nr 8 after resize" 8 $SYSFS/min_nr
check_prints "log: the load's lines, as the C original printed them" mempoolctl log -- "*kmem_cache_size = 10240" "*mempool created: min_nr = 6, curr_nr = 6"
check "unload" mempoolctl unload
check_absent "module gone after unload" /sys/module/$MODULE
