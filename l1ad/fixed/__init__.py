"""l1ad.fixed"""
