"""l1ad.hls"""
