"""l1ad.rtl"""
