# SPDX-License-Identifier: GPL-2.0
#
# The benchmark chart, drawn by report.py:
#   gnuplot -e "limitfile='ratios-dm-linear.dat'; thinfile='ratios-dm-thin.dat';
#               outfile='ratios.png'; nlimit=3; nthin=2" ratios.gp
# Each file: a header line (label, then the contenders), then one row per
# backing:workload with each contender's ratio to the reference ("-" = not
# measured).  Ratios > 1 are better than the reference.
# Top panel: ratios to dm-linear; bottom panel: ratios to dm-thin.

set terminal pngcairo size 1400,1000 font ",10"
set output outfile
set datafile missing "-"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set logscale y 2
set grid ytics
set xtics rotate by -40 left noenhanced
set key top left noenhanced
set ylabel "times better than the reference (log scale)"
set multiplot layout 2,1

set title "Ratio to dm-linear (the raw device); > 1 is better"
plot for [i=2:nlimit+1] limitfile using i:xtic(1) title columnhead(i), 1 with lines lw 2 lc rgb "black" notitle

set title "Ratio to dm-thin (64 KiB chunks, zeroing); > 1 is better"
plot for [i=2:nthin+1] thinfile using i:xtic(1) title columnhead(i), 1 with lines lw 2 lc rgb "black" notitle

unset multiplot
