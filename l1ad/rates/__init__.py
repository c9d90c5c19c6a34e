"""l1ad.rates"""
