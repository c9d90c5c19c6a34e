"""l1ad.analysis"""
