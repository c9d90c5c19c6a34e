"""l1ad.report"""
