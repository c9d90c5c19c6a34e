"""l1ad.models"""
