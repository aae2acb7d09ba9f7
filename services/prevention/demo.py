"""placeholder"""
def seed_demo(db, context):
    return None
