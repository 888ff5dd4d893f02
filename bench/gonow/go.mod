module timewarp/bench/gonow

go 1.19
